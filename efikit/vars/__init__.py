"""efikit.vars"""
