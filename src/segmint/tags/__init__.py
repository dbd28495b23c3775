"""Tags: named boolean rules over the customer profile, written in a small safe language."""
