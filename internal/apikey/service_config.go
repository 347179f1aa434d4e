package apikey

import "context"

// Config returns a tenant's effective policy; tenant "" gives the global
// defaults.
func (s *Service) Config(ctx context.Context, tenant string) (TenantConfig, error) {
	if tenant != "" {
		if err := ValidateID("tenant", tenant); err != nil {
			return TenantConfig{}, err
		}
	}
	var cfg TenantConfig
	err := s.Store.View(ctx, func(tx Tx) (err error) {
		cfg, err = tenantConfig(tx, tenant)
		return err
	})
	return cfg, err
}

// ConfigChange is one change to a tenant's (or the global) policy: a new
// value for a setting, or, with Unset, its removal.
type ConfigChange struct {
	Name  string
	Value string
	Unset bool
}

// SetConfig sets one setting for a tenant, or globally for tenant "".
func (s *Service) SetConfig(ctx context.Context, tenant, name, value, actor string) (TenantConfig, error) {
	return s.ApplyConfig(ctx, tenant, []ConfigChange{{Name: name, Value: value}}, actor)
}

// UnsetConfig removes a tenant's (or the global) value of a setting.
func (s *Service) UnsetConfig(ctx context.Context, tenant, name, actor string) (TenantConfig, error) {
	return s.ApplyConfig(ctx, tenant, []ConfigChange{{Name: name, Unset: true}}, actor)
}

// ApplyConfig makes several changes to a tenant's (or the global) policy in
// one transaction, all or none, each with its audit event. Removing a value
// that is not set changes nothing and writes no event.
func (s *Service) ApplyConfig(ctx context.Context, tenant string, changes []ConfigChange, actor string) (TenantConfig, error) {
	if tenant != "" {
		if err := ValidateID("tenant", tenant); err != nil {
			return TenantConfig{}, err
		}
	}
	for i, c := range changes {
		if c.Unset {
			if err := CheckSettingName(c.Name); err != nil {
				return TenantConfig{}, err
			}
			continue
		}
		v, err := NormalizeSetting(c.Name, c.Value)
		if err != nil {
			return TenantConfig{}, err
		}
		changes[i].Value = v
	}
	var cfg TenantConfig
	err := s.Store.Update(ctx, func(tx Tx) error {
		for _, c := range changes {
			old, err := tx.ConfigValues(tenant)
			if err != nil {
				return err
			}
			if c.Unset {
				removed, err := tx.UnsetConfig(tenant, c.Name)
				if err != nil {
					return err
				}
				if removed {
					details := map[string]any{"name": c.Name, "old": old[c.Name]}
					if err := appendConfigEvent(tx, actor, ActionConfigUnset, tenant, details); err != nil {
						return err
					}
				}
				continue
			}
			if err := tx.SetConfig(tenant, c.Name, c.Value); err != nil {
				return err
			}
			details := map[string]any{"name": c.Name, "old": optional(old[c.Name]), "new": c.Value}
			if err := appendConfigEvent(tx, actor, ActionConfigSet, tenant, details); err != nil {
				return err
			}
		}
		var err error
		cfg, err = tenantConfig(tx, tenant)
		return err
	})
	return cfg, err
}

func tenantConfig(tx Tx, tenant string) (TenantConfig, error) {
	global, err := tx.ConfigValues("")
	if err != nil {
		return TenantConfig{}, err
	}
	var own map[string]string
	if tenant != "" {
		if own, err = tx.ConfigValues(tenant); err != nil {
			return TenantConfig{}, err
		}
	}
	return ResolveConfig(tenant, global, own), nil
}

func appendConfigEvent(tx Tx, actor, action, tenant string, details map[string]any) error {
	return tx.AppendEvent(&AuditEvent{Time: tx.Now(), Actor: actor, Action: action, TenantID: tenant, Details: details})
}
