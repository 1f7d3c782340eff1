"""Content service: templates per channel in Liquid (sandboxed, checked when
saved), MJML email bodies, immutable versions, A/B variants, assets with
generated renditions, link tracking and batch rendering."""
