"""Request value types every route shares: what the database can hold, said once.

PostgreSQL text cannot hold U+0000 and its INTEGER stops at 2**31-1, where SQLite takes both.
A request value typed `Text` or `RowId` that breaks this is refused with 422 naming the field, on
both databases alike, and the OpenAPI document says so (a pattern, a maximum). Every string
of a request body, path or query is `Text` (or has its own pattern that excludes NUL), every
integer has a maximum of at most ID_MAX: tests/mes/test_api_types.py walks the document.
"""

from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

#: The largest id a database id column holds on every supported database (PostgreSQL INTEGER).
ID_MAX = 2**31 - 1
#: JSON Schema pattern of text without NUL (the pattern itself is only documentation).
NO_NUL = r"^[^\x00]*$"


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "must not contain NUL (U+0000)")
    return value


class NoNul:
    """Annotated metadata: refuse NUL; document a pattern unless the field has its own."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(_no_nul, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.setdefault("pattern", NO_NUL)
        return json_schema


class OneOf:
    """Annotated metadata: a string that must be one of `values` (an enum in the document)."""

    def __init__(self, values: Iterable[str]) -> None:
        self.values = tuple(values)

    def _check(self, value: str) -> str:
        if value not in self.values:
            raise PydanticCustomError(
                "one_of", "must be one of {expected}", {"expected": ", ".join(self.values)}
            )
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(schema), "enum": list(self.values)}


#: Any text from a request (body field, path or query parameter).
Text = Annotated[str, NoNul()]
#: A database row id from a request.
RowId = Annotated[int, Field(ge=1, le=ID_MAX)]
