"""Deployment manifests rendered from a cluster config: a KubeRay RayService and a Ray
cluster launcher file. Both embed the same Serve config `fleet up` deploys."""
