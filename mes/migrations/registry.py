"""Import every table module of the MES so that SQLModel.metadata knows all tables.

Any module under `mes/` named `models` (or ending in `_models`), plus the kernel's
`mes.core.audit` and `mes.core.notifications`, registers its tables here: a new feature's
tables are found without editing this file.
"""

import importlib
import pkgutil

import sqlmodel

import mes

EXTRA_MODULES = ("mes.core.audit", "mes.core.notifications")


def import_all_models() -> sqlmodel.MetaData:
    for info in pkgutil.walk_packages(mes.__path__, "mes."):
        leaf = info.name.rsplit(".", 1)[1]
        if leaf == "models" or leaf.endswith("_models"):
            importlib.import_module(info.name)
    for name in EXTRA_MODULES:
        importlib.import_module(name)
    return sqlmodel.SQLModel.metadata
