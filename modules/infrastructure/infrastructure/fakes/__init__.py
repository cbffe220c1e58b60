"""In-memory fakes of the ports, shipped for tests; the public names are in ``module_api.testing``."""
