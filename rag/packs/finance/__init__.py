"""The finance pack: SEC filings and earnings releases."""
