"""efikit.disk"""
