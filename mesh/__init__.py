"""The service mesh: one policy (policy.yaml), rendered to Istio objects, the Helm chart and Envoy."""
