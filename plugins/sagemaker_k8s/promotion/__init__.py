"""The retraining loop's pure logic: the champion record, the champion/challenger gate, endpoint
ownership, what "promoted and live" means, and which finished training jobs to retire.

No I/O here: operators in ``operators/promotion.py`` and ``operators/retention.py`` read the facts
through the hooks and act on what these functions decide.
"""
