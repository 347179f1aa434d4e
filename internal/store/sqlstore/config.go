package sqlstore

// ConfigValues returns the values set for a tenant ("" for global).
func (tx *Tx) ConfigValues(tenant string) (map[string]string, error) {
	rows, err := tx.hotQuery(queryConfigValues, tenant)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var n, v string
		if err := rows.Scan(&n, &v); err != nil {
			return nil, err
		}
		m[n] = v
	}
	return m, rows.Err()
}

// SetConfig sets one value.
func (tx *Tx) SetConfig(tenant, name, value string) error {
	_, err := tx.exec(`INSERT INTO tenant_config (tenant_id, name, value, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		tenant, name, value, tx.t(tx.now))
	return err
}

// UnsetConfig removes one value, reporting whether there was one.
func (tx *Tx) UnsetConfig(tenant, name string) (bool, error) {
	res, err := tx.exec(`DELETE FROM tenant_config WHERE tenant_id = ? AND name = ?`, tenant, name)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
