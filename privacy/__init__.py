"""Privacy: erase a customer everywhere (`segments forget`, privacy.erase) and keep them out of later
loads (privacy.suppression, privacy.redelivery). Plain Python, no Dagster."""
