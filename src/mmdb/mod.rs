//! MaxMind DB reader (placeholder, being written).
