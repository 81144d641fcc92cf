"""Outbound campaigns: importing contact lists, the campaign's settings, results.

The dialer's pure rules live in ``ari_app.core.campaign``; the dialing itself in the
controller. This package holds what the CLI needs: ``phones`` (E.164), ``settings``
(a campaign's options), the import pipeline, export and report.
"""
