package dynamodb

import "fmt"

// capacity is ReturnConsumedCapacity: NONE (or empty) reports nothing,
// TOTAL the table's name and the units consumed, INDEXES also the units
// per table and index (API reference PutItem/GetItem,
// ReturnConsumedCapacity; ConsumedCapacity). Tables have no indexes here,
// so INDEXES adds only Table.
type capacity string

func (c capacity) check() error {
	switch c {
	case "", "NONE", "TOTAL", "INDEXES":
		return nil
	}
	return validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]", c))
}

// readUnits is what reading an item of size bytes consumes: one read
// capacity unit per 4 KB, rounded up, for a strongly consistent read,
// half that for an eventually consistent one; a read of no item consumes
// the minimum (Developer Guide, "DynamoDB read consistency" and "Read
// request units and write request units": "A strongly consistent read
// request of an item up to 4 KB requires one read request unit. An
// eventually consistent read request of an item up to 4 KB requires
// one-half read request unit").
func readUnits(size int, consistent bool) float64 {
	units := float64(max(1, (size+4095)/4096))
	if !consistent {
		units /= 2
	}
	return units
}

// writeUnits is what writing an item consumes: one write capacity unit per
// 1 KB of the larger of the item before and after, rounded up ("A
// standard write request of an item up to 1 KB requires one write request
// unit"; for an update or delete "the size of the larger of the two
// versions").
func writeUnits(before, after int) float64 {
	return float64(max(1, (max(before, after)+1023)/1024))
}

// add puts ConsumedCapacity in out when c asks for it.
func (c capacity) add(out map[string]any, table string, units float64) map[string]any {
	switch c {
	case "TOTAL":
		out["ConsumedCapacity"] = map[string]any{"TableName": table, "CapacityUnits": units}
	case "INDEXES":
		out["ConsumedCapacity"] = map[string]any{"TableName": table, "CapacityUnits": units, "Table": map[string]any{"CapacityUnits": units}}
	}
	return out
}
