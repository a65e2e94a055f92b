"""Data layer: geography, population, schemas, loaders of published files (``sources``), the
build, the datastore, the demo generator and disclosure control. Imports only the base modules
(``paths``, ``atomic``, ``vocab``)."""
