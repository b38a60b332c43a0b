"""Celery app and tasks. The logic lives in :mod:`audiosvc.service`; tasks stay thin."""
