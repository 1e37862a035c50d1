"""The app's JSON provider: decimals are numbers.

Flask writes a ``Decimal`` as a string ("2.00"), while the OpenAPI document
(apispec) says ``number`` for a marshmallow ``Decimal``, and a number is what
the front end wants. Hours and the like have two places and stay well within
a double's 15 significant digits, so a float carries them exactly: 1.25 stays
1.25, 2.00 becomes 2.0.
"""
from __future__ import annotations

from decimal import Decimal

from flask.json.provider import DefaultJSONProvider


class JSONProvider(DefaultJSONProvider):
    @staticmethod
    def default(o):
        if isinstance(o, Decimal):
            return float(o)
        return DefaultJSONProvider.default(o)
