"""Detection: content (bytes) in, findings out.

One module per concern:
- `tokens`: sk- tokens and their shapes (vendor shapes, keys written in pieces, the judgement);
- `headers`: literal tokens in Authorization / x-api-key headers;
- `assigned`: values of any shape in settings named for Kimi (`MOONSHOT_API_KEY=<hex>`);
- `context`: words, endpoints and setting names that tie a place to Kimi;
- `layer`: one layer of a scan (content or decoded text) and the questions asked of it;
- `layered`: the walk over the content and every encoding inside it, to a depth limit;
- `excerpt`: lines, columns and the excerpt around a key;
- `limits`: the shared bounds and DetectionTimeout.
"""

from __future__ import annotations

from kimi_secret_scan.detect.layered import detect
from kimi_secret_scan.detect.limits import MAX_DEPTH, REGEX_TIMEOUT, DetectionTimeout

__all__ = ["MAX_DEPTH", "REGEX_TIMEOUT", "DetectionTimeout", "detect"]
