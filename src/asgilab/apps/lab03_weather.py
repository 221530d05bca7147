"""Lab 03, step 1: a vendor's weather client with a blocking API only. How long one call takes is
not written anywhere: the lab asks the learner to measure it (a figure to derive the tokens from).

    from asgilab.apps.lab03_weather import sdk
    sdk.forecast("Taipei")  # blocks its thread for one call
"""

from __future__ import annotations

import time

_LOGIN_S, _REQUEST_S = 0.15, 0.25  # two blocking round trips per call (stand-ins for its socket waits)
CALL_S = _LOGIN_S + _REQUEST_S  # what the check expects each request to wait, at least


class WeatherSDK:
    """A blocking client: `forecast` logs in and asks, waiting on its socket each time."""

    def forecast(self, city: str) -> dict[str, str]:
        """The forecast for ``city``; blocks the calling thread for the whole call."""
        time.sleep(_LOGIN_S)
        time.sleep(_REQUEST_S)
        return {"city": city, "forecast": "sunny"}


sdk = WeatherSDK()
