"""The model registry, the promotion gate and delivery (the flywheel's last steps): see store.py,
gate.py and delivery.py."""

from honkdata.registry.config import (
    DeliveryConfig,
    GateConfig,
    MetricGate,
    RegistryConfig,
)
from honkdata.registry.delivery import current_release, deliver, export_release, point_current
from honkdata.registry.gate import Decision, decide
from honkdata.registry.store import ModelVersion, Promotion, Registry, open_registry

__all__ = [
    "Decision",
    "DeliveryConfig",
    "GateConfig",
    "MetricGate",
    "ModelVersion",
    "Promotion",
    "Registry",
    "RegistryConfig",
    "current_release",
    "decide",
    "deliver",
    "export_release",
    "open_registry",
    "point_current",
]
