"""Pure IAM checks for the preflight step: trust policies and permission policies as dicts in, findings out.

The AWS calls that fetch the documents live in the hooks; keeping the judgement here means every
rule is unit-tested on literal policy documents.
"""
