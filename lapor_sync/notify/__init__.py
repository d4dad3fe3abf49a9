"""Notifications: what a liaison, an admin or monitoring must know, by e-mail or webhook.

Modules, one concept each:

- ``outcome``: what one delivery attempt came to (sent, retry, dead, unknown);
- ``smtp`` / ``webhook``: the two channels, each turning one stored message into an outcome;
- ``deliver``: the outbox discipline (recover, claim, send, record) over both channels;
- ``channels``: the channels ``[notify]`` configures; ``probe``: ``notify --send-test``;
- ``compose``: the Indonesian texts, plain and HTML, from identifier-only items;
- ``opd`` (batches, digests) and ``admin`` (alerts, monitoring's weekly figures): which
  messages are due now; ``decision``: committing them together with the conditions they
  announce; ``run``: one pass (decide, commit, deliver) and the preview.

Invariant: nothing here reads or writes reporter data or complaint text; a message holds
Tracking IDs, local references, stages, due dates and portal links only.
"""
