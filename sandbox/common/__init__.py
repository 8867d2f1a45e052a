"""What the two emulated SageMaker controllers share: the legacy operator's (``sandbox/operator/``) and the
ACK controller's (``sandbox/ack/``).

``kube`` the Kubernetes client they reconcile through, ``aws`` their boto3 clients, ``credentials`` IRSA as
STS and IAM would evaluate it, ``faults`` the fault annotation and armed fault rules, ``pods`` what the
cluster says about a controller's pod (running, flags, service account), ``loop`` the control loop thread.
"""
