"""The MNIST dataset layer: pure functions from bytes/arrays to bytes/arrays, no I/O to AWS.

* ``sources``: parse and validate the ``dataset_source`` param, locate the bundled 5k sample.
* ``mnist``: decode the bundled ``mnist_5k.csv.gz`` or the classic ``mnist.pkl.gz`` (safe unpickler)
  into uint8 train/validation/test splits.
* ``csvfmt``: the walkthrough's CSV layout for SageMaker built-in XGBoost, vectorized.
* ``layout``: S3 keys per channel and the idempotent upload plan (sha256 in object metadata).

The submodules import numpy at module level, so import them inside task code, never at DAG parse time;
this ``__init__`` deliberately imports nothing.
"""
