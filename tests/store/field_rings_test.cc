#include "store/field_rings.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

namespace tidewatch::store {
namespace {

FieldRingsOptions SmallOptions() {
  FieldRingsOptions o;
  o.defaults.capacity = 8;
  o.max_fields = 4;
  return o;
}

// "seq@ts{field:series=value,...}" per record, records sorted by sequence number.
std::string Render(std::vector<AssembledRecord> records) {
  std::sort(records.begin(), records.end(),
            [](const auto& a, const auto& b) { return a.record_seq < b.record_seq; });
  std::string out;
  for (const AssembledRecord& r : records) {
    out += std::to_string(r.record_seq) + "@" + std::to_string(r.ts) + (r.complete ? "{" : "~{");
    for (const AssembledValue& v : r.values) {
      out += std::to_string(v.field) + ":" + std::to_string(v.series) + "=" +
             std::to_string(static_cast<int>(v.value)) + ",";
    }
    out += "} ";
  }
  return out;
}

TEST(FieldRingsTest, SameFieldSameIdAndRing) {
  FieldRings rings(SmallOptions());
  const FieldId temp = *rings.FieldFor("boiler", "temp");
  const FieldId pressure = *rings.FieldFor("boiler", "pressure");
  EXPECT_NE(temp, pressure);
  EXPECT_EQ(*rings.FieldFor("boiler", "temp"), temp);
  EXPECT_EQ(&rings.ring(*rings.FieldFor("boiler", "temp")), &rings.ring(temp));
  EXPECT_EQ(rings.field_count(), 2u);
  EXPECT_EQ(rings.measurement(pressure), "boiler");
  EXPECT_EQ(rings.field(pressure), "pressure");
}

TEST(FieldRingsTest, MeasurementAndFieldAreSeparateKeys) {
  FieldRings rings(SmallOptions());
  EXPECT_NE(*rings.FieldFor("ab", "c"), *rings.FieldFor("a", "bc"));
  EXPECT_NE(*rings.FieldFor("pump", "flow"), *rings.FieldFor("valve", "flow"));
}

TEST(FieldRingsTest, OverridesSetCapacityAndPolicy) {
  FieldRingsOptions o = SmallOptions();
  o.overrides.push_back({"vibration", "rms", {64, OverflowPolicy::kDropOldest}});
  FieldRings rings(o);
  FieldRings::Ring& lossy = rings.ring(*rings.FieldFor("vibration", "rms"));
  FieldRings::Ring& plain = rings.ring(*rings.FieldFor("vibration", "peak"));
  EXPECT_EQ(lossy.capacity(), 64u);
  EXPECT_EQ(lossy.policy(), OverflowPolicy::kDropOldest);
  EXPECT_EQ(plain.capacity(), 8u);
  EXPECT_EQ(plain.policy(), OverflowPolicy::kReject);
}

TEST(FieldRingsTest, FieldLimitIsAClearCountedError) {
  FieldRings rings(SmallOptions());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(rings.FieldFor("m", "f" + std::to_string(i)).ok());
  const StatusOr<FieldId> fifth = rings.FieldFor("m", "f4");
  ASSERT_FALSE(fifth.ok());
  EXPECT_EQ(fifth.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(fifth.status().message().find("m.f4"), std::string::npos);
  EXPECT_NE(fifth.status().message().find("max_fields"), std::string::npos);
  EXPECT_EQ(rings.fields_rejected(), 1u);
  EXPECT_TRUE(rings.FieldFor("m", "f2").ok());  // existing fields still resolve
  EXPECT_EQ(rings.fields_rejected(), 1u);
}

TEST(FieldRingsTest, BadConfigurationIsRejectedAtConstruction) {
  FieldRingsOptions zero_fields = SmallOptions();
  zero_fields.max_fields = 0;
  EXPECT_THROW(FieldRings{zero_fields}, std::invalid_argument);
  FieldRingsOptions odd_capacity = SmallOptions();
  odd_capacity.overrides.push_back({"m", "f", {100, OverflowPolicy::kReject}});
  EXPECT_THROW(FieldRings{odd_capacity}, std::invalid_argument);
}

TEST(FieldRingsTest, RecordsAssembleFromInterleavedRings) {
  FieldRings rings(SmallOptions());
  const FieldId a = *rings.FieldFor("m", "a");
  const FieldId b = *rings.FieldFor("m", "b");
  RecordWriter w1(rings);
  RecordWriter w2(rings);
  // Ring a sees w1's record first, ring b sees w2's record first: pairing by position
  // would mix them.
  w1.BeginRecord(100, 2);
  w2.BeginRecord(200, 2);
  ASSERT_TRUE(w1.Push(a, 1, 10));
  ASSERT_TRUE(w2.Push(b, 4, 21));
  ASSERT_TRUE(w2.Push(a, 3, 20));
  ASSERT_TRUE(w1.Push(b, 2, 11));
  RecordAssembler assembler(rings, {a, b});
  std::vector<AssembledRecord> out;
  EXPECT_EQ(assembler.Poll(out), 4u);
  const std::uint64_t s1 = w1.record_seq();
  const std::uint64_t s2 = w2.record_seq();
  ASSERT_LT(s1, s2);
  EXPECT_EQ(Render(out), std::to_string(s1) + "@100{0:1=10,1:2=11,} " + std::to_string(s2) +
                             "@200{0:3=20,1:4=21,} ");
  EXPECT_EQ(assembler.pending(), 0u);
}

TEST(FieldRingsTest, FullRingRefusesAndTheSameValueCanBeRetried) {
  FieldRings rings(SmallOptions());
  const FieldId a = *rings.FieldFor("m", "a");
  const FieldId b = *rings.FieldFor("m", "b");
  RecordWriter writer(rings);
  for (int i = 0; i < 8; ++i) {  // fill ring a
    writer.BeginRecord(i, 1);
    ASSERT_TRUE(writer.Push(a, 0, i));
  }
  writer.BeginRecord(99, 2);
  EXPECT_TRUE(writer.Push(b, 0, 1));
  EXPECT_FALSE(writer.Push(a, 0, 2));
  EXPECT_EQ(rings.ring(a).counters().rejected, 1u);

  RecordAssembler assembler(rings, {a, b});
  std::vector<AssembledRecord> out;
  assembler.Poll(out);
  EXPECT_EQ(out.size(), 8u);       // the single-value records
  EXPECT_EQ(assembler.pending(), 1u);  // record 99 waits for its second value
  EXPECT_TRUE(writer.Push(a, 0, 2));
  out.clear();
  assembler.Poll(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].complete);
  EXPECT_EQ(out[0].ts, 99);
  EXPECT_EQ(out[0].values.size(), 2u);
}

TEST(FieldRingsTest, IncompleteRecordsFlushAsPartialPastTheLimit) {
  FieldRings rings(SmallOptions());
  const FieldId a = *rings.FieldFor("m", "a");
  RecordWriter writer(rings);
  for (int i = 0; i < 3; ++i) {
    writer.BeginRecord(i, 2);  // the second value never comes
    ASSERT_TRUE(writer.Push(a, 0, i));
  }
  RecordAssembler assembler(rings, {a}, /*max_pending=*/2);
  std::vector<AssembledRecord> out;
  assembler.Poll(out);
  ASSERT_EQ(out.size(), 3u);
  for (const AssembledRecord& r : out) {
    EXPECT_FALSE(r.complete);
    ASSERT_EQ(r.values.size(), 1u);
    EXPECT_EQ(r.values[0].value, static_cast<double>(r.ts));
  }
  EXPECT_EQ(assembler.pending(), 0u);
}

}  // namespace
}  // namespace tidewatch::store
