package dynamodb

import (
	"strings"
	"testing"
)

func TestCanonicalNumber(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  string
	}{
		{in: "1.50", want: "1.5"},
		{in: "-0", want: "0"},
		{in: "0.000", want: "0"},
		{in: "1E2", want: "100"},
		{in: "+7", want: "7"},
		{in: "-12.3400e-2", want: "-0.1234"},
		{in: ".5", want: "0.5"},
		{in: "12345678901234567890123456789012345678", want: "12345678901234567890123456789012345678"},
		{in: "1e-130", want: "0." + strings.Repeat("0", 129) + "1"},
		{in: "123456789012345678901234567890123456789", wantErr: "Attempting to store more than 38 significant digits in a Number"},
		{in: "1e126", wantErr: "Number overflow. Attempting to store a number with magnitude larger than supported range"},
		{in: "1e-131", wantErr: "Number underflow. Attempting to store a number with magnitude smaller than supported range"},
		{in: "abc", wantErr: "The parameter cannot be converted to a numeric value: abc"},
		{in: "1/2", wantErr: "The parameter cannot be converted to a numeric value: 1/2"},
		{in: "0x10", wantErr: "The parameter cannot be converted to a numeric value: 0x10"},
		{in: "Infinity", wantErr: "The parameter cannot be converted to a numeric value: Infinity"},
		{in: "", wantErr: "The parameter cannot be converted to a numeric value: "},
	}
	for _, tt := range tests {
		got, err := canonicalNumber(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.(*apiError).message != tt.wantErr {
				t.Errorf("canonicalNumber(%q) = %q, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("canonicalNumber(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
