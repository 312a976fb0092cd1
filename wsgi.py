"""WSGI entry point: `gunicorn wsgi:app`, or `flask --app wsgi run`."""

import gc

from schoolmgr import create_app

app = create_app()
# What the app has built by now (models, routes, catalogues, about 200,000 objects) lives as long
# as the process: keep it out of the cyclic collector's full passes, which would walk all of it
# every few hundred requests.
gc.freeze()
