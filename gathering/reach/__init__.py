"""Reach: the programme on other sites (embed pages, the embed script, oEmbed) and in link
previews (OpenGraph, Twitter cards, schema.org JSON-LD). Only public, released data leaves here."""
