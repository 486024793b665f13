"""MLOps Desk: a desktop control panel for the models a team runs in production."""

__version__ = "0.1.0"
