//! `workspace.yaml` export, `ohx run` of a real `@pipeline`, the toolbox DHIS2 paths.
