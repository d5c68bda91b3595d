// The dashboard's front end (web/*.html|js|css and the pinned uPlot build from
// node_modules), embedded into the binary at build time by cmake/embed_assets.cmake,
// so the page works offline and needs no files at run time.
#pragma once

#include <string_view>

namespace lastro::dashboard {

struct Asset {
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view body;
};

// The asset named `name` (a file name such as "index.html" or "uPlot.min.css"), or
// nullptr when there is none. Thread-safe; the data lives for the whole program.
const Asset* FindAsset(std::string_view name);

}  // namespace lastro::dashboard
