"""The JSON parser of the API: a document nested too deeply for Python is bad input (400)."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class JsonBodyParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            # json raises RecursionError (not ValueError) past the interpreter's depth limit.
            raise ParseError("JSON nested too deeply") from None
