"""Scale-out on Ray Serve (extra ``corral[ray]``; docs/scale-out.md).

One HTTP address for a cluster: the ingress deployment serves corral's own Litestar app and routes
inference by model name to per-model deployments whose replicas each run corral's scheduler and
engine; Ray places, restarts and autoscales the replicas on corral's queue figures. Modules:
``routing`` (which requests go where; pure), ``forward`` (a request through an in-process ASGI
app), ``ingress``, ``replica``, ``stats`` (status table, federated metrics), ``autoscale`` (the
policy), ``settings``, ``app`` (build and deploy). Only ``ingress``, ``replica``, ``routes`` and
``app`` import Ray, and only when called.
"""
