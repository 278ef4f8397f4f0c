"""Word-by-word captions: a style, words grouped into captions and wrapped by measured
width (layout), an ASS subtitle file (ass), burned in by libass in the export's encode."""
