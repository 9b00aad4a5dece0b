"""Model releases: a registry tag becomes an MLflow model version, a bento, a GitHub Release.

`deploy` checks the tag and keeps the GitHub deployment; `steps` releases one version
(with `card` for the model card); `auto` registers and releases what changed on main;
`rollback` gives a stage back. `results` holds what each did, `destinations` where it
goes. `bento` is the one module that runs BentoML, `smoke` asks the served bento over
HTTP, `processes` stops a server's whole process tree, `pyfunc` loads a model for MLflow.
"""
