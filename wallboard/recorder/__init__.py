"""The recorder's pure parts: the storage schema, batching, and retention with downsampling."""
