"""Notifications: what a liaison, an admin or monitoring must know, by e-mail or webhook.

Modules, one concept each:

- ``outcome``: what one delivery attempt came to (sent, retry, dead, unknown);
- ``smtp`` / ``webhook``: the two channels, each turning one stored message into an outcome;
- ``deliver``: the outbox discipline (recover, claim, send, record) over both channels;
- ``compose``: the Indonesian texts, plain and HTML, from identifier-only items;
- ``decide``: which messages are due now (OPD batches and digests, admin alerts, the
  weekly figures), committed together with the conditions they announce.

Invariant: nothing here reads or writes reporter data or complaint text; a message holds
Tracking IDs, local references, stages, due dates and portal links only.
"""
