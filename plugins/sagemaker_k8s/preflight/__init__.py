"""The preflight step's checks, all pure: facts in (IAM documents, the cluster's objects), findings out.

* ``report``: a finding per check (pass/warn/fail, each failure with its fix) and the rendered table;
* ``irsa``: the cluster's OIDC provider and its partition-aware ARN;
* ``trust``: the operator role's and the execution role's trust policies;
* ``policy``, ``permissions``: whether attached policies allow the actions each controller needs;
* ``cluster``: CRDs, the controller's Deployment, pod, watched namespaces, region and service account.

The calls that fetch those facts are the hooks'; ``operators.preflight`` gathers them and runs the
checks, so every rule is unit-tested on literal documents.
"""
