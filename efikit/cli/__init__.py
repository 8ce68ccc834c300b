"""efikit.cli"""
