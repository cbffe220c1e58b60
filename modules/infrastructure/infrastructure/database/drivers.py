"""Engines for configured URLs: a driver that is not installed is a configuration problem, said as one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import NoSuchModuleError

from modules.infrastructure.domain.errors import ConfigurationError
from modules.infrastructure.domain.secrets import mask_url

# The module a DBAPI driver imports, and the package that provides it.
PACKAGES = {
    "psycopg2": "psycopg2-binary",
    "psycopg": "'psycopg[binary]'",
    "pg8000": "pg8000",
    "MySQLdb": "mysqlclient",
    "pymysql": "PyMySQL",
    "mysql": "mysql-connector-python",
    "mariadb": "mariadb",
    "oracledb": "oracledb",
    "cx_Oracle": "cx_Oracle",
    "pyodbc": "pyodbc",
    "pymssql": "pymssql",
}


def create_database_engine(url: str, setting: str, **arguments: Any) -> Engine:
    """``create_engine(url, **arguments)``; a dialect or driver that is not installed raises ``ConfigurationError``."""
    try:
        return create_engine(url, **arguments)
    except NoSuchModuleError as exc:
        scheme = make_url(url).drivername
        raise ConfigurationError(
            f"{setting}={mask_url(url)} names '{scheme}', which is neither a SQLAlchemy dialect nor an installed driver "
            "for one; write postgresql://... (or sqlite:///...), or install the package that provides it"
        ) from exc
    except ImportError as exc:
        raise ConfigurationError(_missing_driver(url, setting, exc)) from exc


def _missing_driver(url: str, setting: str, exc: ImportError) -> str:
    parsed = make_url(url)
    module = (exc.name or "").split(".")[0] or parsed.get_driver_name()
    package = PACKAGES.get(module, module)
    message = (
        f"{setting}={mask_url(url)} needs the {parsed.get_driver_name()} driver, whose package is not installed "
        f"(no module named {module!r}): run pip install {package}"
    )
    if parsed.get_backend_name() == "postgresql":
        message += ", or write postgresql://... to use psycopg2, which the module ships"
    return message
