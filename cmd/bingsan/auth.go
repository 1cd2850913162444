package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/bingsan/bingsan/auth"
	"github.com/bingsan/bingsan/config"
	"github.com/bingsan/bingsan/console"
	"github.com/bingsan/bingsan/store"
)

// openAuth starts authentication when auth.enabled is set; nil otherwise.
func openAuth(ctx context.Context, cfg config.Config, st store.AuthStore, log *slog.Logger) (*auth.Service, error) {
	if !cfg.Auth.Enabled {
		return nil, nil
	}
	issuers := make([]auth.OIDCIssuer, len(cfg.Auth.OIDCIssuers))
	for i, c := range cfg.Auth.OIDCIssuers {
		issuers[i] = auth.OIDCIssuer{
			Issuer: c.Issuer, Audience: c.Audience, PrincipalClaim: c.PrincipalClaim, PrincipalPrefix: c.PrincipalPrefix,
			RolesClaim: c.RolesClaim, RoleMappings: c.RoleMappings, JWKSURL: c.JWKSURL,
		}
	}
	svc, err := auth.New(ctx, st, auth.Options{
		TokenTTL:              cfg.Auth.TokenTTL,
		SigningKeyRotation:    cfg.Auth.SigningKeyRotation,
		BootstrapClientID:     cfg.Auth.BootstrapClientID,
		BootstrapClientSecret: cfg.Auth.BootstrapClientSecret,
		KeyEncryptionSecret:   cfg.Auth.KeyEncryptionSecret,
		OIDC:                  issuers,
		AuditRetention:        cfg.Auth.AuditRetention,
		Logger:                log,
	})
	if err != nil {
		return nil, fmt.Errorf("starting authentication: %w", err)
	}
	return svc, nil
}

// consoleSettings are the web console's sign-in settings when
// server.console is on; nil otherwise. Only issuers with a console client
// id are offered for sign-in.
func consoleSettings(cfg config.Config) *console.Settings {
	if !cfg.Server.Console {
		return nil
	}
	s := &console.Settings{Auth: cfg.Auth.Enabled}
	if !cfg.Auth.Enabled {
		return s
	}
	for _, c := range cfg.Auth.OIDCIssuers {
		if c.ConsoleClientID != "" {
			s.OIDC = append(s.OIDC, console.OIDCProvider{Issuer: c.Issuer, ClientID: c.ConsoleClientID, Scopes: c.ConsoleScopes})
		}
	}
	return s
}
