"""Standalone web apps for people who do not open notebooks: ``iwt app readiness`` serves the readiness
checklist form to partners (councils, care providers, the voluntary sector) through Voila, with no code
shown. The app layer sits beside the report runner and imports no theme: the form is
``present.readiness_form`` (the readiness notebook shows the same one), its parameters ``analysis.params``."""
