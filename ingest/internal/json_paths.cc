#include "ingest/internal/json_paths.h"

namespace tidewatch::ingest::internal {

Status JsonPathTree::Add(std::string_view path, std::uint32_t slot) {
  auto invalid = [path](std::string_view why) {
    return Status(StatusCode::kInvalidArgument,
                  "key \"" + std::string(path) + "\": " + std::string(why));
  };
  std::uint32_t node = kRoot;
  std::string_view rest = path;
  while (true) {
    const std::size_t dot = rest.find('.');
    const std::string_view key = rest.substr(0, dot);
    if (key.empty()) return invalid("empty name before or after a '.'");
    if (nodes_[node].slot != kNone) return invalid("goes inside another key of the mapping");
    std::uint32_t child = Find(node, key);
    if (child == kNone) {
      child = static_cast<std::uint32_t>(nodes_.size());
      nodes_.push_back({std::string(key), kNone, {}});
      nodes_[node].children.push_back(child);
    } else if (dot == std::string_view::npos) {
      return invalid(nodes_[child].slot != kNone ? "used twice in the mapping"
                                                 : "another key of the mapping goes inside it");
    }
    node = child;
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  nodes_[node].slot = slot;
  return Status::Ok();
}

}  // namespace tidewatch::ingest::internal
