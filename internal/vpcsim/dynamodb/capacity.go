package dynamodb

import "fmt"

// capacity is ReturnConsumedCapacity: NONE (or empty) reports nothing,
// TOTAL the table's name and the units consumed, INDEXES also the units
// per table and index (API reference PutItem/GetItem,
// ReturnConsumedCapacity; ConsumedCapacity).
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

// addWrite puts a single-item write's ConsumedCapacity in out when c asks
// for it: the table's units and those of every index the write touches,
// which INDEXES lists apart (API reference ConsumedCapacity:
// GlobalSecondaryIndexes, LocalSecondaryIndexes, "The amount of
// throughput consumed on each ... index affected by the operation").
func (c capacity) addWrite(out map[string]any, t *table, old, next item) map[string]any {
	units := writeUnits(itemSize(old), itemSize(next))
	idx := t.indexWrites(old, next)
	total := units
	for _, u := range idx {
		total += u.units
	}
	switch c {
	case "TOTAL":
		out["ConsumedCapacity"] = map[string]any{"TableName": t.name, "CapacityUnits": total}
	case "INDEXES":
		cc := map[string]any{"TableName": t.name, "CapacityUnits": total, "Table": map[string]any{"CapacityUnits": units}}
		for _, u := range idx {
			member := "LocalSecondaryIndexes"
			if u.ix.global {
				member = "GlobalSecondaryIndexes"
			}
			m, _ := cc[member].(map[string]any)
			if m == nil {
				m = map[string]any{}
				cc[member] = m
			}
			m[u.ix.name] = map[string]any{"CapacityUnits": u.units}
		}
		out["ConsumedCapacity"] = cc
	}
	return out
}

// tableUnits adds up the units an operation on several tables consumes,
// per table in the order the tables first appear.
type tableUnits struct {
	order []string
	units map[string]float64
}

func (u *tableUnits) add(table string, units float64) {
	if u.units == nil {
		u.units = map[string]float64{}
	}
	if _, ok := u.units[table]; !ok {
		u.order = append(u.order, table)
	}
	u.units[table] += units
}

// addList puts ConsumedCapacity, one entry per table, in out when c asks
// for it, as BatchGetItem, BatchWriteItem and the transactions report it.
// member, when not empty, also names the units ReadCapacityUnits or
// WriteCapacityUnits, as the transactions do (AWS CLI reference,
// transact-write-items example 1: "CapacityUnits": 10.0,
// "WriteCapacityUnits": 10.0; batch-write-item: "CapacityUnits" and
// "Table" only).
func (c capacity) addList(out map[string]any, u *tableUnits, member string) map[string]any {
	if c != "TOTAL" && c != "INDEXES" {
		return out
	}
	list := make([]map[string]any, 0, len(u.order))
	for _, t := range u.order {
		units := u.units[t]
		e := map[string]any{"TableName": t, "CapacityUnits": units}
		tbl := map[string]any{"CapacityUnits": units}
		if member != "" {
			e[member] = units
			tbl[member] = units
		}
		if c == "INDEXES" {
			e["Table"] = tbl
		}
		list = append(list, e)
	}
	out["ConsumedCapacity"] = list
	return out
}
