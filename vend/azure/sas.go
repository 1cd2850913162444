package azure

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// TimeFormat is how SAS and delegation keys write times.
const TimeFormat = "2006-01-02T15:04:05Z"

// SASVersion is the signed version (sv) of the SAS this package makes: its
// string-to-sign layout is the one of 2020-12-06
// (https://learn.microsoft.com/rest/api/storageservices/create-service-sas,
// .../create-user-delegation-sas).
const SASVersion = "2020-12-06"

// SAS is what a shared access signature for a container or a directory
// grants.
type SAS struct {
	// Permissions in the service's order: "racwdl", "rl".
	Permissions string
	Start       time.Time
	Expiry      time.Time
	// Protocol is "https" or "https,http".
	Protocol  string
	Container string
	// Directory (no slashes around it) makes a directory SAS (sr=d, for
	// accounts with hierarchical namespace); empty: a container SAS.
	Directory string
}

func (s SAS) resource() string {
	if s.Directory != "" {
		return "d"
	}
	return "c"
}

func (s SAS) canonical(account string) string {
	c := "/blob/" + account + "/" + s.Container
	if s.Directory != "" {
		c += "/" + s.Directory
	}
	return c
}

func (s SAS) query(sig string) url.Values {
	q := url.Values{
		"sv":  {SASVersion},
		"sp":  {s.Permissions},
		"st":  {s.Start.UTC().Format(TimeFormat)},
		"se":  {s.Expiry.UTC().Format(TimeFormat)},
		"spr": {s.Protocol},
		"sr":  {s.resource()},
		"sig": {sig},
	}
	if s.Directory != "" {
		q.Set("sdd", strconv.Itoa(strings.Count(s.Directory, "/")+1))
	}
	return q
}

// SignWithAccountKey makes a service SAS signed with the account's shared
// key (base64).
func (s SAS) SignWithAccountKey(account, accountKey string) (string, error) {
	key, err := base64.StdEncoding.DecodeString(accountKey)
	if err != nil {
		return "", errors.New("azure: the account key is not base64")
	}
	toSign := strings.Join([]string{
		s.Permissions, s.Start.UTC().Format(TimeFormat), s.Expiry.UTC().Format(TimeFormat), s.canonical(account),
		"", // signed identifier
		"", // IP range
		s.Protocol, SASVersion, s.resource(),
		"",                 // snapshot time
		"",                 // encryption scope
		"", "", "", "", "", // response headers rscc, rscd, rsce, rscl, rsct
	}, "\n")
	return s.query(hmacBase64(key, toSign)).Encode(), nil
}

// SignWithUserDelegationKey makes a user-delegation SAS signed with k.
func (s SAS) SignWithUserDelegationKey(account string, k UserDelegationKey) (string, error) {
	key, err := base64.StdEncoding.DecodeString(k.Value)
	if err != nil {
		return "", errors.New("azure: the user delegation key is not base64")
	}
	keyStart, keyExpiry := keyTime(k.Start), keyTime(k.Expiry)
	toSign := strings.Join([]string{
		s.Permissions, s.Start.UTC().Format(TimeFormat), s.Expiry.UTC().Format(TimeFormat), s.canonical(account),
		k.ObjectID, k.TenantID, keyStart, keyExpiry, k.Service, k.Version,
		"", // authorized user object id
		"", // unauthorized user object id
		"", // correlation id
		"", // IP range
		s.Protocol, SASVersion, s.resource(),
		"",                 // snapshot time
		"",                 // encryption scope
		"", "", "", "", "", // response headers rscc, rscd, rsce, rscl, rsct
	}, "\n")
	q := s.query(hmacBase64(key, toSign))
	q.Set("skoid", k.ObjectID)
	q.Set("sktid", k.TenantID)
	q.Set("skt", keyStart)
	q.Set("ske", keyExpiry)
	q.Set("sks", k.Service)
	q.Set("skv", k.Version)
	return q.Encode(), nil
}

// keyTime writes a delegation key's time as SAS write times (the service
// may answer with fractions of a second).
func keyTime(s string) string {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC().Format(TimeFormat)
	}
	return s
}
