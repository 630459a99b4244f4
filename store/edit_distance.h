// Levenshtein distance, for the "did you mean" of the config reader and the rule parser.
//
// Thread safety: pure function.
#ifndef TIDEWATCH_STORE_EDIT_DISTANCE_H_
#define TIDEWATCH_STORE_EDIT_DISTANCE_H_

#include <cstddef>
#include <string_view>

namespace tidewatch::store {

// Insertions, deletions and substitutions turning `a` into `b`. O(|a|·|b|) time,
// O(|b|) memory: callers bound the lengths.
std::size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace tidewatch::store

#endif  // TIDEWATCH_STORE_EDIT_DISTANCE_H_
