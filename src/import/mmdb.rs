//! MaxMind DB importer (placeholder, being written).
