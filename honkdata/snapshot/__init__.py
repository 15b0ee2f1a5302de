"""The versioned, immutable snapshot store (DESIGN.md, "Snapshot layout")."""
