"""Analysis layer: the numbers (rates, SPC, KPIs, workforce profiles, pressures, benchmarking,
need, data quality) as pure functions on DataFrames. Imports the data and base layers; never
plotting or widgets."""
