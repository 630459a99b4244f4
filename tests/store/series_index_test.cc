#include "store/series_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <new>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/internal/series_key.h"
#include "tests/util/allocation_counter.h"

namespace tidewatch::store {
namespace {

// A series key parsed from line-protocol-like text, "cpu,host=a,region=x usage", tags
// kept in the order written. Owns its strings; view() borrows them.
class Key {
 public:
  Key(std::string db, std::string_view text) : db_(std::move(db)) {
    const std::size_t space = text.find(' ');
    field_ = std::string(text.substr(space + 1));
    std::string_view head = text.substr(0, space);
    std::size_t comma = head.find(',');
    measurement_ = std::string(head.substr(0, comma));
    while (comma != std::string_view::npos) {
      head.remove_prefix(comma + 1);
      comma = head.find(',');
      const std::string_view tag = head.substr(0, comma);
      const std::size_t eq = tag.find('=');
      tags_.push_back({std::string(tag.substr(0, eq)), std::string(tag.substr(eq + 1))});
    }
  }

  SeriesKeyView view() const {
    views_.clear();
    for (const Tag& tag : tags_) views_.push_back({tag.key, tag.value});
    return {db_, measurement_, views_, field_};
  }

 private:
  std::string db_, measurement_, field_;
  std::vector<Tag> tags_;
  mutable std::vector<TagView> views_;
};

constexpr SeriesId kNoId = std::numeric_limits<SeriesId>::max();

SeriesId MustIntern(SeriesIndex& index, std::string db, std::string_view text,
                    FieldType type = FieldType::kFloat) {
  const StatusOr<SeriesId> id = index.Intern(Key(std::move(db), text).view(), type);
  EXPECT_TRUE(id.ok()) << text << ": " << id.status().ToString();
  return id.ok() ? *id : kNoId;
}

Status InternStatus(SeriesIndex& index, std::string db, std::string_view text,
                    FieldType type = FieldType::kFloat) {
  return index.Intern(Key(std::move(db), text).view(), type).status();
}

std::string Ids(const PostingList& ids) {
  std::string out = "[";
  for (const SeriesId id : ids) out += (out.size() > 1 ? "," : "") + std::to_string(id);
  return out + "]";
}

// Every listing and posting list, one db per line:
// "db(count): measurement[ids] key=value[ids] field:type; ...".
std::string State(const SeriesIndex& index) {
  std::string out;
  for (const std::string& db : index.Databases()) {
    out += db + "(" + std::to_string(index.series_count(db)) + "):";
    for (const std::string& m : index.Measurements(db)) {
      out += " " + m + Ids(index.SeriesOf(db, m));
      for (const std::string& k : index.TagKeys(db, m)) {
        for (const std::string& v : index.TagValues(db, m, k)) {
          out += " " + k + "=" + v + Ids(index.SeriesWithTag(db, m, k, v));
        }
      }
      for (const auto& [field, type] : index.FieldKeys(db, m)) {
        out += " " + field + ":" + std::string(internal::FieldTypeName(type));
      }
      out += ";";
    }
    out += "\n";
  }
  return out;
}

SeriesIndex SmallIndex(std::size_t max_series_per_db) {
  SeriesIndexOptions options;
  options.max_series_per_db = max_series_per_db;
  return SeriesIndex(options);
}

TEST(SeriesIndexTest, InternFindInfoRoundTrip) {
  SeriesIndex index;
  const Key key("telegraf", "cpu,host=a,region=x usage");
  const SeriesId id = *index.Intern(key.view(), FieldType::kInteger);
  EXPECT_EQ(*index.Find(key.view()), id);
  const SeriesInfo expected{"telegraf", "cpu", {{"host", "a"}, {"region", "x"}}, "usage",
                            FieldType::kInteger};
  EXPECT_EQ(index.Info(id), expected);
  EXPECT_EQ(index.series_count(), 1u);
}

TEST(SeriesIndexTest, SameKeyTwiceIsOneSeries) {
  SeriesIndex index;
  EXPECT_EQ(MustIntern(index, "db", "cpu,host=a usage"), 0u);
  EXPECT_EQ(MustIntern(index, "db", "cpu,host=b usage"), 1u);
  EXPECT_EQ(MustIntern(index, "db", "cpu,host=a usage"), 0u);
  EXPECT_EQ(index.series_count(), 2u);
}

TEST(SeriesIndexTest, FindNeverCreates) {
  SeriesIndex index;
  const StatusOr<SeriesId> found = index.Find(Key("db", "cpu,host=a usage").view());
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().message(), "series 'cpu,host=a usage' not found in db 'db'");
  EXPECT_EQ(index.series_count(), 0u);
  EXPECT_TRUE(index.Databases().empty());
}

TEST(SeriesIndexTest, InfoOfDeadIdIsEmpty) {
  SeriesIndex index;
  EXPECT_FALSE(index.Info(0));
  MustIntern(index, "db", "cpu usage");
  EXPECT_TRUE(index.Info(0));
  EXPECT_FALSE(index.Info(1));
  EXPECT_FALSE(index.Info(kNoId));
}

TEST(SeriesIndexTest, PartBoundariesNeverCollide) {
  // Pairs of keys whose parts concatenate to the same bytes.
  const std::vector<std::pair<std::string, std::string>> keys = {
      {"ab", "c,k=v f"},     {"a", "bc,k=v f"},     // db | measurement
      {"d", "ab,k=v cf"},    {"d", "abc,k=v f"},    // measurement | field
      {"d", "m,ab=c f"},     {"d", "m,a=bc f"},     // tag key | tag value
      {"d", "m,k=ak,l=c f"}, {"d", "m,k=a,kl=c f"}, // tag value | next tag key
      {"d", "m,k=v vf"},     {"d", "m,k=vv f"},     // last tag value | field
      {"d", "m,kv=x f"},     {"d", "mk,v=x f"},     // measurement | first tag
  };
  SeriesIndex index;
  std::set<SeriesId> ids;
  for (const auto& [db, text] : keys) ids.insert(MustIntern(index, db, text));
  EXPECT_EQ(ids.size(), keys.size());
  for (const auto& [db, text] : keys) {
    const SeriesId id = *index.Find(Key(db, text).view());
    EXPECT_EQ(index.Info(id)->db, db) << text;
    EXPECT_EQ(internal::FormatSeriesKey(Key(db, text).view()), text);
  }
}

TEST(SeriesIndexTest, KeysMustBeCanonical) {
  SeriesIndex index;
  const auto message = [&index](std::string db, std::string_view text) {
    return index.Intern(Key(std::move(db), text).view(), FieldType::kFloat).status().ToString();
  };
  EXPECT_EQ(message("db", "cpu,region=x,host=a usage"),
            "INVALID_ARGUMENT: tags not sorted by key in series key 'cpu,region=x,host=a usage'");
  EXPECT_EQ(message("db", "cpu,host=a,host=b usage"),
            "INVALID_ARGUMENT: duplicate tag key in series key 'cpu,host=a,host=b usage'");
  EXPECT_EQ(message("", "cpu usage"), "INVALID_ARGUMENT: empty db in series key 'cpu usage'");
  EXPECT_EQ(message("db", "cpu,host= usage"),
            "INVALID_ARGUMENT: empty tag value in series key 'cpu,host= usage'");
  EXPECT_EQ(message("db", "cpu,=a usage"),
            "INVALID_ARGUMENT: empty tag key in series key 'cpu,=a usage'");
  EXPECT_EQ(message("db", ",host=a usage"),
            "INVALID_ARGUMENT: empty measurement in series key ',host=a usage'");
  EXPECT_EQ(message("db", "cpu "), "INVALID_ARGUMENT: empty field in series key 'cpu '");
  EXPECT_EQ(index.Find(Key("db", "cpu,region=x,host=a usage").view()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(index.series_count(), 0u);
}

TEST(SeriesIndexTest, TypeConflictIsAnInfluxStyleCountedError) {
  SeriesIndex index;
  const SeriesId id = MustIntern(index, "db", "cpu,host=a usage", FieldType::kInteger);
  const Status same_series = InternStatus(index, "db", "cpu,host=a usage", FieldType::kFloat);
  EXPECT_EQ(same_series.ToString(),
            "INVALID_ARGUMENT: field type conflict: input field \"usage\" on measurement \"cpu\" "
            "is type float, already exists as type integer");
  // A field has one type per measurement, so a new series of it conflicts too.
  EXPECT_EQ(InternStatus(index, "db", "cpu,host=b usage", FieldType::kBoolean).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(index.type_conflicts("db"), 2u);
  EXPECT_EQ(MustIntern(index, "db", "mem,host=a usage", FieldType::kBoolean), 1u);
  EXPECT_EQ(MustIntern(index, "db", "cpu,host=a usage", FieldType::kInteger), id);
  EXPECT_EQ(index.series_count(), 2u);
}

TEST(SeriesIndexTest, FieldTypeIsFreeAgainOnceNoSeriesHasIt) {
  SeriesIndex index;
  const SeriesId id = MustIntern(index, "db", "cpu,host=a usage", FieldType::kInteger);
  index.Remove(std::vector<SeriesId>{id});
  EXPECT_TRUE(InternStatus(index, "db", "cpu,host=b usage", FieldType::kFloat).ok());
  EXPECT_EQ(index.type_conflicts("db"), 0u);
}

TEST(SeriesIndexTest, CardinalityLimitIsExactPerDbAndCounted) {
  SeriesIndex index = SmallIndex(3);
  for (int i = 0; i < 3; ++i) MustIntern(index, "a", "cpu,host=" + std::to_string(i) + " usage");
  EXPECT_EQ(InternStatus(index, "a", "cpu,host=3 usage").ToString(),
            "RESOURCE_EXHAUSTED: db 'a' has reached max_series_per_db=3; "
            "series cpu,host=3 usage rejected");
  EXPECT_FALSE(InternStatus(index, "a", "cpu,host=3 usage").ok());
  EXPECT_EQ(MustIntern(index, "a", "cpu,host=1 usage"), 1u);  // existing series resolve
  for (int i = 0; i < 3; ++i) MustIntern(index, "b", "cpu,host=" + std::to_string(i) + " usage");
  EXPECT_EQ(index.rejected_series("a"), 2u);
  EXPECT_EQ(index.rejected_series("b"), 0u);
  EXPECT_EQ(index.series_count("a"), 3u);
  EXPECT_EQ(index.series_count(), 6u);
}

TEST(SeriesIndexTest, RemovingSeriesMakesRoomUnderTheLimit) {
  SeriesIndex index = SmallIndex(1);
  const SeriesId id = MustIntern(index, "a", "cpu usage");
  EXPECT_FALSE(InternStatus(index, "a", "mem usage").ok());
  index.Remove(std::vector<SeriesId>{id});
  EXPECT_EQ(MustIntern(index, "a", "mem usage"), id);
  EXPECT_EQ(index.rejected_series("a"), 1u);
}

TEST(SeriesIndexTest, ZeroLimitIsRefusedAtConstruction) {
  EXPECT_THROW(SmallIndex(0), std::invalid_argument);
}

// Three dbs' worth of series, created out of order.
void Populate(SeriesIndex& index) {
  MustIntern(index, "db2", "mem,host=a used", FieldType::kInteger);         // 0
  MustIntern(index, "db1", "cpu,host=b,region=x usage");                    // 1
  MustIntern(index, "db1", "cpu,host=a,region=x usage");                    // 2
  MustIntern(index, "db1", "cpu,host=a,region=x idle", FieldType::kInteger); // 3
  MustIntern(index, "db1", "cpu,host=a,region=y usage");                    // 4
  MustIntern(index, "db1", "disk,path=/ free", FieldType::kInteger);        // 5
  MustIntern(index, "db1", "cpu,extra=1,host=a,region=y usage");            // 6
}

TEST(SeriesIndexTest, ListingsAreSortedAndDeduplicated) {
  SeriesIndex index;
  Populate(index);
  EXPECT_EQ(State(index),
            "db1(6): cpu[1,2,3,4,6] extra=1[6] host=a[2,3,4,6] host=b[1] region=x[1,2,3] "
            "region=y[4,6] idle:integer usage:float; disk[5] path=/[5] free:integer;\n"
            "db2(1): mem[0] host=a[0] used:integer;\n");
  EXPECT_TRUE(index.Measurements("nope").empty());
  EXPECT_TRUE(index.TagKeys("db1", "nope").empty());
  EXPECT_TRUE(index.TagValues("db1", "cpu", "nope").empty());
  EXPECT_TRUE(index.FieldKeys("nope", "cpu").empty());
  EXPECT_TRUE(index.SeriesWithTag("db1", "cpu", "host", "nope").empty());
}

TEST(SeriesIndexTest, PostingListsStaySortedWhenIdsAreReused) {
  SeriesIndex index;
  for (int i = 0; i < 5; ++i) MustIntern(index, "db", "cpu,host=h" + std::to_string(i) + " usage");
  index.Remove(std::vector<SeriesId>{3, 1});
  EXPECT_EQ(MustIntern(index, "db", "cpu,host=h5 usage"), 1u);  // smallest free id first
  EXPECT_EQ(MustIntern(index, "db", "cpu,host=h6 usage"), 3u);
  EXPECT_EQ(Ids(index.SeriesOf("db", "cpu")), "[0,1,2,3,4]");
  EXPECT_EQ(Ids(index.SeriesWithTag("db", "cpu", "host", "h6")), "[3]");
}

TEST(SeriesIndexTest, PostingListSetOperations) {
  const PostingList a = {1, 3, 5, 7};
  const PostingList b = {3, 4, 5};
  EXPECT_EQ(Ids(Intersect(a, b)), "[3,5]");
  EXPECT_EQ(Ids(Union(a, b)), "[1,3,4,5,7]");
  EXPECT_EQ(Ids(Difference(a, b)), "[1,7]");
  EXPECT_EQ(Ids(Difference(b, a)), "[4]");
  EXPECT_EQ(Ids(Intersect(a, {})), "[]");
  EXPECT_EQ(Ids(Union({}, b)), "[3,4,5]");
}

TEST(SeriesIndexTest, TagPredicatesCombineWithSetOperations) {
  SeriesIndex index;
  Populate(index);
  const PostingList host_a = index.SeriesWithTag("db1", "cpu", "host", "a");
  const PostingList region_x = index.SeriesWithTag("db1", "cpu", "region", "x");
  EXPECT_EQ(Ids(Intersect(host_a, region_x)), "[2,3]");                   // host='a' AND region='x'
  EXPECT_EQ(Ids(Union(index.SeriesWithTag("db1", "cpu", "host", "b"),     // host='b' OR extra='1'
                      index.SeriesWithTag("db1", "cpu", "extra", "1"))),
            "[1,6]");
  EXPECT_EQ(Ids(Difference(index.SeriesOf("db1", "cpu"), host_a)), "[1]");  // host != 'a'
}

TEST(SeriesIndexTest, SeriesWhereTagValueScansDistinctValues) {
  SeriesIndex index;
  for (const char* host : {"web1", "db1", "web2"}) {
    MustIntern(index, "db", std::string("cpu,host=") + host + " usage");
    MustIntern(index, "db", std::string("cpu,host=") + host + " idle");
  }
  int calls = 0;
  const auto is_web = [&calls](std::string_view v) {
    ++calls;
    return v.starts_with("web");
  };
  const PostingList web = index.SeriesWhereTagValue("db", "cpu", "host", is_web);
  EXPECT_EQ(Ids(web), "[0,1,4,5]");
  EXPECT_EQ(calls, 3);  // once per distinct value, not per series
  const std::vector<std::string> values = {"db1", "nope", "db1"};
  EXPECT_EQ(Ids(index.SeriesWithTagValues("db", "cpu", "host", values)), "[2,3]");
}

TEST(SeriesIndexTest, RemoveErasesSeriesFromEveryListing) {
  SeriesIndex index;
  Populate(index);
  // Empties host=b, the tag key `extra`, the field `free`, measurement `disk`, db2.
  index.Remove(std::vector<SeriesId>{6, 0, 1, 5});
  EXPECT_EQ(State(index),
            "db1(3): cpu[2,3,4] host=a[2,3,4] region=x[2,3] region=y[4] idle:integer "
            "usage:float;\n");
  EXPECT_EQ(index.series_count(), 3u);
  EXPECT_EQ(index.Databases(), std::vector<std::string>{"db1"});
  EXPECT_FALSE(index.Info(6));
  EXPECT_EQ(index.Find(Key("db1", "cpu,host=b,region=x usage").view()).status().code(),
            StatusCode::kNotFound);
}

TEST(SeriesIndexTest, RemoveFreesIdsForReuse) {
  SeriesIndex index;
  Populate(index);
  index.Remove(std::vector<SeriesId>{4});
  EXPECT_EQ(index.series_count(), 6u);
  const SeriesId reused = MustIntern(index, "db3", "net,if=eth0 rx");
  EXPECT_EQ(reused, 4u);
  EXPECT_EQ(index.Info(4)->measurement, "net");
  EXPECT_EQ(MustIntern(index, "db1", "cpu,host=a,region=y usage"), 7u);  // back, with a new id
}

TEST(SeriesIndexTest, RemoveIgnoresDeadAndRepeatedIds) {
  SeriesIndex index;
  MustIntern(index, "db", "a f");
  MustIntern(index, "db", "b f");
  index.Remove(std::vector<SeriesId>{0, 0, 99, kNoId});
  index.Remove(std::vector<SeriesId>{0});
  EXPECT_EQ(State(index), "db(1): b[1] f:float;\n");
  EXPECT_EQ(MustIntern(index, "db", "c f"), 0u);
  EXPECT_EQ(MustIntern(index, "db", "d f"), 2u);  // 0 was freed once only
}

TEST(SeriesIndexTest, DropDatabaseRemovesOnlyThatDbAndForgetsIt) {
  SeriesIndex index = SmallIndex(6);
  Populate(index);
  EXPECT_FALSE(InternStatus(index, "db1", "cpu,host=c usage").ok());
  EXPECT_EQ(Ids(index.DropDatabase("db1")), "[1,2,3,4,5,6]");
  EXPECT_EQ(State(index), "db2(1): mem[0] host=a[0] used:integer;\n");
  EXPECT_EQ(index.rejected_series("db1"), 0u);
  EXPECT_EQ(MustIntern(index, "db1", "cpu,host=c usage"), 1u);
  EXPECT_TRUE(index.DropDatabase("nope").empty());
}

TEST(SeriesIndexTest, RestoreRecreatesSeriesUnderGivenIds) {
  SeriesIndex index;
  const SeriesInfo five{"db", "cpu", {{"host", "a"}}, "usage", FieldType::kInteger};
  ASSERT_TRUE(index.Restore(5, five).ok());
  ASSERT_TRUE(index.Restore(2, {"db", "cpu", {{"host", "b"}}, "usage", FieldType::kInteger}).ok());
  EXPECT_EQ(index.Info(5), five);
  EXPECT_EQ(*index.Find(Key("db", "cpu,host=a usage").view()), 5u);
  EXPECT_EQ(index.series_count(), 2u);
  std::string fresh;  // new series fill the gaps, smallest first
  for (int i = 0; i < 5; ++i) {
    fresh += std::to_string(MustIntern(index, "db", "m,i=" + std::to_string(i) + " f")) + " ";
  }
  EXPECT_EQ(fresh, "0 1 3 4 6 ");
}

TEST(SeriesIndexTest, RestoreRefusesTakenIdsKeysAndTypes) {
  SeriesIndex index;
  const SeriesInfo a{"db", "cpu", {{"host", "a"}}, "usage", FieldType::kFloat};
  ASSERT_TRUE(index.Restore(0, a).ok());
  EXPECT_EQ(index.Restore(0, {"db", "cpu", {{"host", "b"}}, "usage", FieldType::kFloat}).message(),
            "cannot restore series 'cpu,host=b usage' in db 'db' as id 0: the id is taken");
  EXPECT_EQ(index.Restore(1, a).message(),
            "cannot restore series 'cpu,host=a usage' in db 'db' as id 1: it exists as id 0");
  EXPECT_EQ(index.Restore(1, {"db", "cpu", {{"host", "c"}}, "usage", FieldType::kBoolean}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(index.Restore(kNoId, {"db", "cpu", {}, "idle", FieldType::kFloat}).code(),
            StatusCode::kInvalidArgument);
  const SeriesInfo unsorted{"db", "cpu", {{"b", "1"}, {"a", "1"}}, "x", FieldType::kFloat};
  EXPECT_EQ(index.Restore(1, unsorted).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index.series_count(), 1u);
}

TEST(SeriesIndexTest, ForEachThenRestoreRebuildsTheSameIndex) {
  SeriesIndex index;
  Populate(index);
  for (int i = 0; i < 2500; ++i) MustIntern(index, "big", "m,i=" + std::to_string(i) + " f");
  index.Remove(std::vector<SeriesId>{0, 3, 100, 2000});
  SeriesIndex copy;
  std::vector<SeriesId> order;
  index.ForEach([&](SeriesId id, const SeriesInfo& info) {
    order.push_back(id);
    EXPECT_EQ(index.Info(id), info);  // no lock is held while fn runs
    EXPECT_TRUE(copy.Restore(id, info).ok());
  });
  EXPECT_EQ(order.size(), index.series_count());
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  EXPECT_EQ(State(copy), State(index));
}

TEST(SeriesIndexTest, MemoryEstimateFollowsSeries) {
  SeriesIndex index;
  const std::size_t empty = index.MemoryBytesApprox();
  constexpr int kSeries = 10'000;
  for (int i = 0; i < kSeries; ++i) {
    MustIntern(index, "telegraf", "cpu,host=server" + std::to_string(i % 1000) +
                                      ",region=us-west-" + std::to_string(i % 7) + " usage_" +
                                      std::to_string(i / 1000));
  }
  const std::size_t full = index.MemoryBytesApprox();
  const std::size_t per_series = (full - empty) / kSeries;
  EXPECT_GT(per_series, 100u);
  EXPECT_LT(per_series, 1000u);
  index.DropDatabase("telegraf");
  // What stays is the id table and the free list: 12 bytes per id, plus vector slack.
  EXPECT_LT(index.MemoryBytesApprox() - empty, kSeries * 24u);
}

TEST(SeriesIndexTest, LookupsOfExistingSeriesDoNotAllocate) {
  SeriesIndex index;
  const Key key("telegraf", "cpu,host=server01,region=us-west usage_idle");
  const SeriesKeyView view = key.view();
  const SeriesId id = *index.Intern(view, FieldType::kFloat);
  const std::size_t before = test_util::ThreadAllocations();
  const StatusOr<SeriesId> found = index.Find(view);
  const StatusOr<SeriesId> interned = index.Intern(view, FieldType::kFloat);
  EXPECT_EQ(test_util::ThreadAllocations(), before);
  EXPECT_EQ(*found, id);
  EXPECT_EQ(*interned, id);
  ASSERT_FALSE(index.Find(Key("telegraf", "cpu usage").view()).ok());
  // The counter does see allocations (the error message).
  EXPECT_GT(test_util::ThreadAllocations(), before);
}

}  // namespace
}  // namespace tidewatch::store
