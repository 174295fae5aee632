//! The hotspot user table, indexed by id and by name so lookups stay O(log n) with thousands
//! of vouchers.

use std::collections::{BTreeMap, HashMap};

use super::state::User;

/// Users in id order with a name index. Names change only through [`Users::set_prop`].
#[derive(Debug, Default)]
pub struct Users {
    // Boxed: B-tree nodes of large values cost more to split and move than the pointer chase.
    items: BTreeMap<u32, Box<User>>,
    names: HashMap<String, u32>,
}

fn name_of(u: &User) -> Option<&String> {
    u.props.get("name")
}

impl Users {
    /// Adds a user (its name must be unique; the caller checks).
    pub fn insert(&mut self, u: User) {
        if let Some(n) = name_of(&u) {
            self.names.insert(n.clone(), u.id);
        }
        self.items.insert(u.id, Box::new(u));
    }

    /// Removes a user by id.
    pub fn remove(&mut self, id: u32) -> Option<User> {
        let u = self.items.remove(&id)?;
        if let Some(n) = name_of(&u) {
            self.names.remove(n);
        }
        Some(*u)
    }

    /// All users in id order.
    pub fn iter(&self) -> impl Iterator<Item = &User> {
        self.items.values().map(|u| &**u)
    }

    /// All users, mutable (counters only: use [`Users::set_prop`] for properties).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut User> {
        self.items.values_mut().map(|u| &mut **u)
    }

    /// Number of users, built-ins included.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there are no users at all.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// By id.
    pub fn get(&self, id: u32) -> Option<&User> {
        self.items.get(&id).map(|u| &**u)
    }

    /// By id, mutable.
    pub fn get_mut(&mut self, id: u32) -> Option<&mut User> {
        self.items.get_mut(&id).map(|u| &mut **u)
    }

    /// By name.
    pub fn by_name(&self, name: &str) -> Option<&User> {
        self.names
            .get(name)
            .and_then(|id| self.items.get(id))
            .map(|u| &**u)
    }

    /// By name, mutable.
    pub fn by_name_mut(&mut self, name: &str) -> Option<&mut User> {
        let id = *self.names.get(name)?;
        self.items.get_mut(&id).map(|u| &mut **u)
    }

    /// Sets one property, keeping the name index right.
    pub fn set_prop(&mut self, id: u32, key: &str, value: &str) {
        let Some(u) = self.items.get_mut(&id) else {
            return;
        };
        if key == "name" {
            if let Some(old) = u.props.get("name") {
                self.names.remove(old);
            }
            self.names.insert(value.to_string(), id);
        }
        u.props.insert(key.to_string(), value.to_string());
    }
}
